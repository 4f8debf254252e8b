"""try with handlers, else and finally; except* groups."""
from hero_tracing import logic


@logic(name="try_demo")
def try_demo(url: str) -> dict:
    try:
        data = logic.invoke("fetch", url=url)
    except (KeyError, ValueError) as exc:
        logic.log(f"bad data: {exc}")
        data = logic.invoke("fetch_backup", url=url)
    except logic.ChildFailed:
        return {"ok": False}
    except:
        raise
    else:
        logic.invoke("cache", data=data)
    finally:
        logic.invoke("cleanup")
    try:
        logic.invoke("batch", data=data)
    except* TimeoutError as group:
        logic.log(str(group))
    return {"ok": True, "data": data}
