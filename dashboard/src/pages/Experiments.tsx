import { Route, Routes } from 'react-router';
import { ExperimentList } from './experiments/List.tsx';
import { ExperimentResults } from './experiments/Results.tsx';

/** Experiments: the list with status and the create form; one experiment's live results. */
export default function ExperimentsPage() {
  return (
    <Routes>
      <Route index element={<ExperimentList />} />
      <Route path=":id" element={<ExperimentResults />} />
    </Routes>
  );
}
