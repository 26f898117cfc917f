import { Route, Routes } from 'react-router';
import { FlagsPage } from './experiments/Flags.tsx';
import { ExperimentList } from './experiments/List.tsx';
import { ExperimentResults } from './experiments/Results.tsx';

/** Experiments: the list with status and the create form; one experiment's live results; feature flags. */
export default function ExperimentsPage() {
  return (
    <Routes>
      <Route index element={<ExperimentList />} />
      <Route path="flags" element={<FlagsPage />} />
      <Route path=":id" element={<ExperimentResults />} />
    </Routes>
  );
}
