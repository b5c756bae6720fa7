# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Zero
#     level: beginner
#     minutes: 0
# ---

# %% [markdown]
# # Zero

# %%
print('Zero')
