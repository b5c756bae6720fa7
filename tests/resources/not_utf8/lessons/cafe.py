# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Cafe
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Cafe

# %%
print('Cafe')

# %% [markdown]
# Un café crème, s'il vous plaît.
