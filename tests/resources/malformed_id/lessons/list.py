# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: [a, b]
#     title: A list
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # A list

# %%
print('A list')
