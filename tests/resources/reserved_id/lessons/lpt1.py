# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: lpt1
#     title: Printer
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Printer

# %%
print('Printer')
