# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: café
#     title: Cafe NFD
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Cafe NFD

# %%
print('Cafe NFD')
