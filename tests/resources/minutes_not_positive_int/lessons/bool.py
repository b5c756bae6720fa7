# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Boolean
#     level: beginner
#     minutes: true
# ---

# %% [markdown]
# # Boolean

# %%
print('Boolean')
