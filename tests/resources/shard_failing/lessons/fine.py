# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: fine
#     title: Fine
#     level: beginner
#     minutes: 10
# ---

# %%
print("fine")
