# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: gamma
#     title: C
#     level: beginner
#     minutes: 10
#     requires: [beta]
# ---

# %% [markdown]
# # C

# %%
print('C')
