# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: epsilon
#     title: E
#     level: beginner
#     minutes: 10
#     requires: [alpha]
# ---

# %% [markdown]
# # E

# %%
print('E')
