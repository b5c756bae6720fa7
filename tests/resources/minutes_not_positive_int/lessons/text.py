# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Text
#     level: beginner
#     minutes: "thirty"
# ---

# %% [markdown]
# # Text

# %%
print('Text')
