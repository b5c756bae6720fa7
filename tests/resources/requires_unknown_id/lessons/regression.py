# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Regression
#     level: intermediate
#     minutes: 10
#     requires: [numpy-basic, pandas-intro]
# ---

# %% [markdown]
# # Regression

# %%
print('Regression')
