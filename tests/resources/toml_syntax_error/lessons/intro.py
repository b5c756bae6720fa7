# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Intro
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Intro

# %%
print('Intro')
