# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: Intro
#     title: Intro again
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Intro again

# %%
print('Intro again')
