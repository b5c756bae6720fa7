# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Another intro
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Another intro

# %%
print('Another intro')
