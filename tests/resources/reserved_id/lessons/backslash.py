# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: 'a\..\b'
#     title: Backslash
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Backslash

# %%
print('Backslash')
