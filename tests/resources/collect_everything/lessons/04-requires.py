# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Requires
#     level: beginner
#     minutes: 10
#     requires: [02-levle]
# ---

# %% [markdown]
# # Requires

# %%
print('Requires')
