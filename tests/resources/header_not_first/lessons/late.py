
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Late header
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Late header

# %%
print('Late header')
