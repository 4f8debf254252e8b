from hero_tracing import logic


@logic(name="broken")
def broken(x):
    if x
        return {"x": x}
