# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: gpu-only
#     title: GPU only
#     level: intermediate
#     minutes: 10
#     resources: {gpu: true}
# ---

# %% [markdown]
# # GPU only
# Skipped where no GPU is visible.

# %%
print("on a GPU")
