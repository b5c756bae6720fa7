# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: /abs
#     title: Absolute
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Absolute

# %%
print('Absolute')
