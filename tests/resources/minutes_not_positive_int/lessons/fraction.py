# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Fraction
#     level: beginner
#     minutes: 2.5
# ---

# %% [markdown]
# # Fraction

# %%
print('Fraction')
