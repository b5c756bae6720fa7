# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: intro
#     title: Build copy
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Build copy

# %%
print('Build copy')
