# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Negative
#     level: beginner
#     minutes: -5
# ---

# %% [markdown]
# # Negative

# %%
print('Negative')
