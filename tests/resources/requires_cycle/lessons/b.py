# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: beta
#     title: B
#     level: beginner
#     minutes: 10
#     requires: [alpha]
# ---

# %% [markdown]
# # B

# %%
print('B')
