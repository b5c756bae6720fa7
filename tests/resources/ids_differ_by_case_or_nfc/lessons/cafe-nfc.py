# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: café
#     title: Cafe NFC
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Cafe NFC

# %%
print('Cafe NFC')
