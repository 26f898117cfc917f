import { lazy, Suspense } from 'react';
import { createTheme, MantineProvider } from '@mantine/core';
import { MutationCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { ApiError } from './api/client.ts';
import { SessionProvider, useSession } from './session.tsx';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/states.tsx';
import { toast, Toaster } from './components/Toasts.tsx';
import { signInPath } from './lib/next.ts';
import { SignInPage } from './pages/SignIn.tsx';
import { AcceptInvitePage, ResetPasswordPage } from './pages/AccountLinks.tsx';
import { RegisterPage, VerifyRegistrationPage } from './pages/Register.tsx';
import { SsoCallbackPage } from './pages/SsoCallback.tsx';
import { HomePage } from './pages/Home.tsx';

// Home and sign-in are in the first load; every other page is its own chunk, fetched on first visit.
const CatalogPage = lazy(() => import('./pages/Catalog.tsx'));
const ImportPage = lazy(() => import('./pages/Import.tsx'));
const CustomersPage = lazy(() => import('./pages/Customers.tsx'));
const OrdersPage = lazy(() => import('./pages/Orders.tsx'));
const PromotionsPage = lazy(() => import('./pages/Promotions.tsx'));
const RecommendationsPage = lazy(() => import('./pages/Recommendations.tsx'));
const PredictionsPage = lazy(() => import('./pages/Predictions.tsx'));
const IntegrationsPage = lazy(() => import('./pages/Integrations.tsx'));
const ExperimentsPage = lazy(() => import('./pages/Experiments.tsx'));
const VisibilityPage = lazy(() => import('./pages/Visibility.tsx'));
const SettingsPage = lazy(() => import('./pages/Settings.tsx'));
const InstallPage = lazy(() => import('./pages/Install.tsx'));
const DataPage = lazy(() => import('./pages/Data.tsx'));
const AdminPage = lazy(() => import('./pages/Admin.tsx'));
const AnalyticsPage = lazy(() => import('./pages/analytics/AnalyticsPage.tsx'));
const BehaviourPage = lazy(() => import('./pages/analytics/BehaviourPage.tsx'));
const CohortsPage = lazy(() => import('./pages/analytics/CohortsPage.tsx'));
const PricingPage = lazy(() => import('./pages/Pricing.tsx'));
const BillingPage = lazy(() => import('./pages/Billing.tsx'));
const SponsoredPage = lazy(() => import('./pages/Sponsored.tsx'));
const NewsfeedPage = lazy(() => import('./pages/Newsfeed.tsx'));

declare module '@tanstack/react-query' {
  interface Register {
    /** `success`: the toast after the mutation succeeds ("Done" when unset); `false` for a mutation that only reads. */
    mutationMeta: { success?: string | false };
  }
}

const queryClient = new QueryClient({
  // One success toast for every mutating action, worded by the mutation's meta.
  mutationCache: new MutationCache({
    onSuccess: (_data, _vars, _ctx, mutation) => {
      const message = mutation.meta?.success;
      if (message !== false) toast(message ?? 'Done');
    },
  }),
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      // Never retry answers the server gave on purpose (404, 403, 400): only network trouble and 5xx.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
    },
  },
});

const theme = createTheme({
  primaryColor: 'blue',
  defaultRadius: 'md',
  fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
});

function Protected() {
  const { signedIn } = useSession();
  const location = useLocation();
  if (!signedIn) return <Navigate to={signInPath(location.pathname, location.search)} replace />;
  return (
    <Layout>
      <Suspense fallback={<Loading label="Loading page" />}>
        <Routes>
          <Route index element={<HomePage />} />
          <Route path="analytics" element={<AnalyticsPage />} />
          <Route path="analytics/behaviour" element={<BehaviourPage />} />
          <Route path="analytics/cohorts" element={<CohortsPage />} />
          <Route path="catalog/*" element={<CatalogPage />} />
          <Route path="import" element={<ImportPage />} />
          <Route path="data" element={<DataPage />} />
          <Route path="customers/*" element={<CustomersPage />} />
          <Route path="orders/*" element={<OrdersPage />} />
          <Route path="promotions" element={<PromotionsPage />} />
          <Route path="recommendations" element={<RecommendationsPage />} />
          <Route path="predictions" element={<PredictionsPage />} />
          <Route path="pricing/*" element={<PricingPage />} />
          <Route path="sponsored/*" element={<SponsoredPage />} />
          <Route path="newsfeed" element={<NewsfeedPage />} />
          <Route path="experiments/*" element={<ExperimentsPage />} />
          <Route path="integrations" element={<IntegrationsPage />} />
          <Route path="visibility" element={<VisibilityPage />} />
          <Route path="billing" element={<BillingPage />} />
          <Route path="install" element={<InstallPage />} />
          <Route path="settings/*" element={<SettingsPage />} />
          <Route path="admin/*" element={<AdminPage />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}

export function App() {
  return (
    <MantineProvider theme={theme} defaultColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <Toaster />
        <BrowserRouter>
          <SessionProvider>
            <Routes>
              <Route path="/sign-in" element={<SignInPage />} />
              <Route path="/accept-invite" element={<AcceptInvitePage />} />
              <Route path="/reset-password" element={<ResetPasswordPage />} />
              <Route path="/register" element={<RegisterPage />} />
              <Route path="/verify-registration" element={<VerifyRegistrationPage />} />
              <Route path="/sso/callback" element={<SsoCallbackPage />} />
              <Route path="/*" element={<Protected />} />
            </Routes>
          </SessionProvider>
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  );
}
