# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: -intro
#     title: Leading dash
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Leading dash

# %%
print('Leading dash')
