# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: con
#     title: Console
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Console

# %%
print('Console')
