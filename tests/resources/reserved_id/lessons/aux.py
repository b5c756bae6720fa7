# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: aux
#     title: Auxiliary
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Auxiliary

# %%
print('Auxiliary')
