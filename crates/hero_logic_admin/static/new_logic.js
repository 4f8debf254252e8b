// New Logic form: keeps the starting source in step with the name and description typed, as
// long as the source is still the untouched template. The template is the server's
// (routes/new_logic.rs, in the page's #boot JSON): `{name}` takes the name, `{description}`
// the description as a JSON string, which is a Python string literal too.

const boot = JSON.parse(document.getElementById('boot').textContent);

function template(name, description) {
  const values = { name: name || boot.placeholder_name, description: JSON.stringify(description || '') };
  return boot.template.replace(/\{(name|description)\}/g, function (slot, key) { return values[key]; });
}

const name = document.getElementById('nl-name');
const description = document.getElementById('nl-description');
const source = document.getElementById('nl-source');
let last = template(name.value.trim(), description.value.trim());
let untouched = source.value === last || source.value === template('', '');

function sync() {
  if (!untouched) return;
  last = template(name.value.trim(), description.value.trim());
  source.value = last;
}

name.addEventListener('input', sync);
description.addEventListener('input', sync);
source.addEventListener('input', function () { untouched = source.value === last; });
if (!name.value) name.focus();
