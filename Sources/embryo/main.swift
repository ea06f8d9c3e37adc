print("embryo")
