# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: intro
#     title: Built copy
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Built copy

# %%
print('Built copy')
