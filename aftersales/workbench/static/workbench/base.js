// Shared behaviour for every workbench page: auto-submitting selects and confirm prompts.
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-auto-submit]")) event.target.form.requestSubmit();
});
