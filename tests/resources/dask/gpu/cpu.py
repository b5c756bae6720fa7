# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: cpu
#     title: Needs no GPU
#     level: beginner
#     minutes: 5
# ---

# %%
print("cpu")
