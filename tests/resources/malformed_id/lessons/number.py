# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: 42
#     title: A number
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # A number

# %%
print('A number')
