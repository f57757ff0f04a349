// Dashboard page (browser code). Minimal until the extension issue.
const root = document.getElementById('app');
if (root) {
  root.textContent = 'Codetune dashboard';
}
