// carebook's own start-up script for Swagger UI (not part of swagger-ui-dist).
// Kept out of index.html so the page's Content-Security-Policy can forbid inline scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default sends the spec to validator.swagger.io; carebook's docs stay on this host.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
