# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: "intro\0x"
#     title: NUL character
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # NUL character

# %%
print('NUL character')
