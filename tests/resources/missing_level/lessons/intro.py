# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Intro
#     minutes: 10
# ---

# %% [markdown]
# # Intro

# %%
print('Intro')
