# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: delta
#     title: D
#     level: beginner
#     minutes: 10
#     requires: [delta]
# ---

# %% [markdown]
# # D

# %%
print('D')
