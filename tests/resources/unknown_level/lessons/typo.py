# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Typo
#     level: intermediat
#     minutes: 10
# ---

# %% [markdown]
# # Typo

# %%
print('Typo')
