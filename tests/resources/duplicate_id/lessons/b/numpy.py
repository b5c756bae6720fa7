# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: numpy-basics
#     title: NumPy basics again
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # NumPy basics again

# %%
print('NumPy basics again')
