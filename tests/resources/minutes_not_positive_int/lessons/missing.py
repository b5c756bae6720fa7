# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Missing
#     level: beginner
# ---

# %% [markdown]
# # Missing

# %%
print('Missing')
