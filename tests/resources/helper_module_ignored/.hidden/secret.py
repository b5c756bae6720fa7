# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: hidden
#     title: Hidden lesson
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Hidden lesson

# %%
print('Hidden lesson')
