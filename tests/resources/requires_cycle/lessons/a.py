# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: alpha
#     title: A
#     level: beginner
#     minutes: 10
#     requires: [gamma]
# ---

# %% [markdown]
# # A

# %%
print('A')
