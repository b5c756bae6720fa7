# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Expert
#     level: expert
#     minutes: 10
# ---

# %% [markdown]
# # Expert

# %%
print('Expert')
