# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Level
#     level: expert
#     minutes: 10
# ---

# %% [markdown]
# # Level

# %%
print('Level')
