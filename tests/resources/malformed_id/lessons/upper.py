# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: Linear_Regression
#     title: Upper case
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Upper case

# %%
print('Upper case')
