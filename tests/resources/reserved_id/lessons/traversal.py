# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: ../../x
#     title: Traversal
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Traversal

# %%
print('Traversal')
