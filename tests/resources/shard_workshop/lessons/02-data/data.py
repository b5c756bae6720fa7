# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: data
#     title: Data
#     level: beginner
#     minutes: 10
#     requires: [intro]
# ---

# %% [markdown]
# # Data
# Reads the file beside it.

# %%
rows = open("numbers.csv", encoding="utf-8").read().split()
print(len(rows), "rows:", ",".join(rows))
