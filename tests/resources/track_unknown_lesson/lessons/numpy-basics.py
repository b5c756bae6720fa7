# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: NumPy basics
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # NumPy basics

# %%
print('NumPy basics')
